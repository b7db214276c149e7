/** Commands for dotfiles, CI and moving in: bind, migrate, export, import, git setup, vault diff-text/merge. */
export const dotfilesCommands = [];

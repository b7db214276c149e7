/** Commands for dotfiles, CI and moving in: bind, migrate, export, import, git setup, vault diff-text/merge. */
import { BindCommand } from './bind.js';
import { ExportCommand } from './export.js';
import { GitSetupCommand } from './git.js';
import { ImportCommand } from './import.js';
import { MigrateCommand } from './migrate.js';
import { VaultDiffTextCommand, VaultMergeCommand } from './vault.js';

export const dotfilesCommands = [BindCommand, MigrateCommand, ExportCommand, ImportCommand, GitSetupCommand, VaultDiffTextCommand, VaultMergeCommand];

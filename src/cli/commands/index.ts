import { AddCommand } from './add.js';
import { InitCommand } from './init.js';
import { ListCommand } from './list.js';
import { PasswdCommand, RekeyCommand } from './passwd.js';
import { RemoveCommand } from './remove.js';
import { StatusCommand } from './status.js';
import { ServeCommand } from './serve.js';
import { KillswitchCommand } from './killswitch.js';
import { LogsCommand, LogsVerifyCommand } from './logs.js';
import { agentCommands } from './agent-commands.js';
import { dotfilesCommands } from './dotfiles-commands.js';

export const commands = [InitCommand, AddCommand, RemoveCommand, ListCommand, StatusCommand, PasswdCommand, RekeyCommand, ServeCommand, KillswitchCommand, LogsCommand, LogsVerifyCommand, ...agentCommands, ...dotfilesCommands];

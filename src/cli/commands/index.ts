import { AddCommand } from './add.js';
import { InitCommand } from './init.js';
import { ListCommand } from './list.js';
import { PasswdCommand, RekeyCommand } from './passwd.js';
import { RemoveCommand } from './remove.js';
import { StatusCommand } from './status.js';

export const commands = [InitCommand, AddCommand, RemoveCommand, ListCommand, StatusCommand, PasswdCommand, RekeyCommand];

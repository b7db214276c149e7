/** Commands of the agent (issue: `janee unlock`): unlock, lock, agent. */
export const agentCommands = [];

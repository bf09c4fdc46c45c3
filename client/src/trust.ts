/**
 * Workspace trust: an experiment file names models and data files and the engine runs with
 * them, so jobs run only in a trusted workspace. Diagnostics, completion and the runs view
 * work everywhere.
 */
import * as vscode from 'vscode';

const MANAGE = 'Manage Workspace Trust';

/** True when jobs may run; otherwise explains why not and offers to manage trust. */
export async function jobsAllowed(what: string): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const choice = await vscode.window.showWarningMessage(`${what} needs a trusted workspace: Adapter Lab runs the training engine only in workspaces you trust. Diagnostics and the runs view work without it.`, MANAGE);
  if (choice === MANAGE) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

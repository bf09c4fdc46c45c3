/**
 * "Reveal Folder" and the exports' "Reveal": the OS file manager in a local desktop window,
 * the Explorer or the folder's main file elsewhere (revealPlan.ts says which).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { planReveal } from './revealPlan';

export async function reveal(target: string): Promise<void> {
  const plan = planReveal(target, {
    remoteName: vscode.env.remoteName,
    desktop: vscode.env.uiKind === vscode.UIKind.Desktop,
    workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
  });
  switch (plan.kind) {
    case 'os':
      await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(plan.path));
      return;
    case 'explorer':
      await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(plan.path));
      return;
    case 'open':
      await vscode.window.showTextDocument(vscode.Uri.file(plan.file), { preview: true });
      return;
    case 'message':
      void vscode.window.showInformationMessage(`Adapter Lab: ${path.basename(plan.path)} is at ${plan.path}`);
      return;
  }
}

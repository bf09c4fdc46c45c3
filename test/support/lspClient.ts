/**
 * A real LSP client for tests and benchmarks: spawns `node dist/server.js --stdio` and
 * speaks JSON-RPC to it over its standard streams.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type CodeAction,
  type CodeLens,
  type CompletionItem,
  type CompletionList,
  type Diagnostic,
  type DocumentSymbol,
  type Hover,
  type InlayHint,
  type Position,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  type Range,
  type Registration,
  type TextDocumentContentChangeEvent,
  type WorkspaceFolder,
} from 'vscode-languageserver-protocol/node';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const SERVER_JS = path.join(REPO_ROOT, 'dist', 'server.js');

export function fileUri(file: string): string {
  return pathToFileURL(file).toString();
}

/**
 * How the client presents itself. The default is a client without workspace folders or
 * settings; `folders` and `settings` make it answer as VS Code's client does.
 */
export interface LspClientOptions {
  /** Workspace folders (paths), in order: sent in `initialize` and answered to `workspace/workspaceFolders`. */
  readonly folders?: readonly string[];
  /**
   * Settings by full name (`adapterLab.runsDirectory`). `pull`: answered to
   * `workspace/configuration`, with change notifications registered by the server;
   * `push`: no such support, the settings go in `workspace/didChangeConfiguration`.
   */
  readonly settings?: { readonly mode: 'pull' | 'push'; readonly values: Readonly<Record<string, unknown>> };
  /** Declares relative pattern support for file watchers, as VS Code's client does. */
  readonly relativeWatchers?: boolean;
}

export class LspClient {
  private readonly diagnosticsByUri = new Map<string, PublishDiagnosticsParams>();
  private folders: readonly string[] = [];
  private settings: Record<string, unknown> = {};
  /** Capabilities the server registered (and not yet unregistered), by id. */
  readonly registrations = new Map<string, Registration>();
  private readonly waiters: { uri: string; version: number | undefined; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  private readonly versions = new Map<string, number>();
  readonly stderr: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly connection: ProtocolConnection,
  ) {
    connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      this.diagnosticsByUri.set(p.uri, p);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i]!;
        if (w.uri === p.uri && (w.version === undefined || p.version === undefined || p.version >= w.version)) {
          this.waiters.splice(i, 1);
          w.resolve(p);
        }
      }
    });
    connection.onRequest('client/registerCapability', (p: { registrations: Registration[] }) => {
      for (const r of p.registrations) this.registrations.set(r.id, r);
      return null;
    });
    connection.onRequest('client/unregisterCapability', (p: { unregisterations: { id: string }[] }) => {
      for (const r of p.unregisterations) this.registrations.delete(r.id);
      return null;
    });
    connection.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) => p.items.map((i) => (i.section !== undefined && i.section in this.settings ? this.settings[i.section] : null)));
    connection.onRequest('workspace/workspaceFolders', () => this.workspaceFolders());
    connection.onRequest('workspace/codeLens/refresh', () => null);
    connection.onRequest('workspace/inlayHint/refresh', () => null);
    connection.onNotification('window/logMessage', () => undefined);
  }

  static async start(options: LspClientOptions = {}): Promise<LspClient> {
    const child = spawn(process.execPath, [SERVER_JS, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const connection = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const client = new LspClient(child, connection);
    client.folders = options.folders ?? [];
    client.settings = { ...(options.settings?.values ?? {}) };
    child.stderr!.on('data', (d: Buffer) => client.stderr.push(d.toString()));
    connection.listen();
    const pull = options.settings?.mode === 'pull';
    await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: fileUri(options.folders?.[0] ?? REPO_ROOT),
      capabilities: {
        workspace: {
          didChangeWatchedFiles: { dynamicRegistration: true, ...(options.relativeWatchers ? { relativePatternSupport: true } : {}) },
          ...(options.folders ? { workspaceFolders: true } : {}),
          ...(pull ? { configuration: true, didChangeConfiguration: { dynamicRegistration: true } } : {}),
        },
        textDocument: { publishDiagnostics: { versionSupport: true }, codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix'] } } } },
      },
      workspaceFolders: options.folders ? client.workspaceFolders() : null,
    });
    await connection.sendNotification('initialized', {});
    if (options.settings?.mode === 'push') await client.pushSettings();
    return client;
  }

  private workspaceFolders(): WorkspaceFolder[] {
    return this.folders.map((f) => ({ uri: fileUri(f), name: path.basename(f) }));
  }

  /** Changes settings as a user would: a pulling server is told that they changed, a pushed-to one gets them. */
  async changeSettings(values: Readonly<Record<string, unknown>>, mode: 'pull' | 'push'): Promise<void> {
    this.settings = { ...this.settings, ...values };
    if (mode === 'pull') await this.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
    else await this.pushSettings();
  }

  /** The settings as nested sections, the shape clients push (`{ adapterLab: { runsDirectory } }`). */
  private async pushSettings(): Promise<void> {
    const nested: Record<string, Record<string, unknown>> = {};
    for (const [name, value] of Object.entries(this.settings)) {
      const dot = name.lastIndexOf('.');
      (nested[name.slice(0, dot)] ??= {})[name.slice(dot + 1)] = value;
    }
    await this.connection.sendNotification('workspace/didChangeConfiguration', { settings: nested });
  }

  /** Replaces the workspace folders and notifies the server, as a client does when folders are added or removed. */
  async changeFolders(folders: readonly string[]): Promise<void> {
    const before = this.workspaceFolders();
    this.folders = folders;
    const after = this.workspaceFolders();
    await this.connection.sendNotification('workspace/didChangeWorkspaceFolders', {
      event: { added: after.filter((f) => !before.some((b) => b.uri === f.uri)), removed: before.filter((b) => !after.some((f) => f.uri === b.uri)) },
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async open(uri: string, text: string): Promise<PublishDiagnosticsParams> {
    this.versions.set(uri, 1);
    const waiting = this.nextDiagnostics(uri, 1);
    await this.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'adapter-yaml', version: 1, text } });
    return waiting;
  }

  /** Sends changes (full text, or ranged edits) and resolves with the diagnostics for the new version. */
  async change(uri: string, changes: TextDocumentContentChangeEvent[]): Promise<PublishDiagnosticsParams> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    const waiting = this.nextDiagnostics(uri, version);
    await this.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: changes });
    return waiting;
  }

  async replace(uri: string, text: string): Promise<PublishDiagnosticsParams> {
    return this.change(uri, [{ text }]);
  }

  async close(uri: string): Promise<void> {
    await this.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  async filesChanged(uris: string[]): Promise<void> {
    await this.connection.sendNotification('workspace/didChangeWatchedFiles', { changes: uris.map((uri) => ({ uri, type: 2 })) });
  }

  /** Resolves on the next diagnostics for `uri` at `version` or later. */
  nextDiagnostics(uri: string, version?: number, timeoutMs = 10_000): Promise<PublishDiagnosticsParams> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} v${version} within ${timeoutMs} ms; stderr: ${this.stderr.join('')}`)), timeoutMs);
      this.waiters.push({ uri, version, resolve: (p) => (clearTimeout(timer), resolve(p)) });
    });
  }

  lastDiagnostics(uri: string): Diagnostic[] {
    return this.diagnosticsByUri.get(uri)?.diagnostics ?? [];
  }

  async completion(uri: string, position: Position): Promise<CompletionItem[]> {
    const r = (await this.connection.sendRequest('textDocument/completion', { textDocument: { uri }, position })) as CompletionItem[] | CompletionList | null;
    return Array.isArray(r) ? r : (r?.items ?? []);
  }

  hover(uri: string, position: Position): Promise<Hover | null> {
    return this.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position }) as Promise<Hover | null>;
  }

  codeLenses(uri: string): Promise<CodeLens[]> {
    return this.connection.sendRequest('textDocument/codeLens', { textDocument: { uri } }) as Promise<CodeLens[]>;
  }

  inlayHints(uri: string, range: Range): Promise<InlayHint[]> {
    return this.connection.sendRequest('textDocument/inlayHint', { textDocument: { uri }, range }) as Promise<InlayHint[]>;
  }

  documentSymbols(uri: string): Promise<DocumentSymbol[]> {
    return this.connection.sendRequest('textDocument/documentSymbol', { textDocument: { uri } }) as Promise<DocumentSymbol[]>;
  }

  codeActions(uri: string, range: Range, diagnostics: Diagnostic[]): Promise<CodeAction[]> {
    return this.connection.sendRequest('textDocument/codeAction', { textDocument: { uri }, range, context: { diagnostics } }) as Promise<CodeAction[]>;
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.connection.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
      await this.connection.sendNotification('exit');
    } catch {
      // The server may already be gone; the kill below makes sure.
    }
    this.connection.dispose();
    if (this.alive) this.child.kill();
  }
}

/** A diagnostic's message as text (the protocol allows markup). */
export function messageOf(d: Diagnostic): string {
  return typeof d.message === 'string' ? d.message : d.message.value;
}

/** The position just after the first occurrence of `needle` (plus `delta` characters). */
export function positionOf(text: string, needle: string, delta = 0, occurrence = 1): Position {
  let index = -1;
  for (let i = 0; i < occurrence; i++) {
    index = text.indexOf(needle, index + 1);
    if (index < 0) throw new Error(`"${needle}" not found`);
  }
  const offset = index + delta;
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return { line, character: offset - (before.lastIndexOf('\n') + 1) };
}

/** The range covering the first occurrence of `needle`. */
export function rangeOf(text: string, needle: string, occurrence = 1): Range {
  const start = positionOf(text, needle, 0, occurrence);
  return { start, end: { line: start.line, character: start.character + needle.length } };
}

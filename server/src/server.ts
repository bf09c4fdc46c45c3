/**
 * The Adapter Lab language server: `node dist/server.js --stdio`.
 *
 * A thin LSP layer: validation and the schema come from engine/config, each feature is a
 * pure function in ./features over one cached validation per document version. Every
 * handler is guarded: a failure is logged and answered with an empty result, so one bad
 * document never takes the server down.
 */
import {
  CodeActionKind,
  createConnection,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type Disposable,
} from 'vscode-languageserver/node';
import { pathToFileURL } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { DocumentStates, type DocumentState } from './documentState';
import { codeActions } from './features/codeActions';
import { codeLenses } from './features/codeLens';
import { completion } from './features/completion';
import { diagnostics } from './features/diagnostics';
import { documentSymbols } from './features/documentSymbols';
import { hover } from './features/hover';
import { inlayHints } from './features/inlayHints';
import { SETTINGS_SECTION } from './protocol';
import { RUNS_DIRECTORY_SETTING, RunsLocation, runsDirectoryOfPushed } from './runsLocation';

/** Diagnostics wait this long after the last keystroke, so a burst of edits validates once. */
const DIAGNOSTICS_DELAY_MS = 50;
/** Diagnostics wait at most this long for the first answer about the settings, so a silent client still gets them. */
const SETTINGS_WAIT_MS = 2000;
/** In a runs folder, what says that a run completed and has an adapter (what `fusion.adapters` resolves by name). */
const RUN_FILES_GLOB = '**/{status.json,adapter_config.json}';

export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const runs = new RunsLocation();
  const states = new DocumentStates((file) => runs.runsDirFor(file));
  const timers = new Map<string, NodeJS.Timeout>();
  let watchDynamically = false;
  let watchRelative = false;
  let pullSettings = false;
  let settingsChangeRegistration = false;
  let folderChanges = false;
  // Resolved once the runs folder setting has been read, so the first diagnostics already use it.
  let settingsRead: Promise<void> = Promise.resolve();

  const guard = <T>(name: string, fallback: T, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      connection.console.error(`${name} failed: ${(e as Error).stack ?? String(e)}`);
      return fallback;
    }
  };
  const withState = <T>(uri: string, name: string, fallback: T, fn: (state: DocumentState) => T, current = true): T => {
    const document = documents.get(uri);
    return document ? guard(name, fallback, () => fn(current ? states.get(document) : states.latest(document))) : fallback;
  };

  const publishNow = (uri: string): void => {
    const document = documents.get(uri);
    if (!document) return;
    const version = document.version;
    const list = guard('diagnostics', [], () => diagnostics(states.get(document)));
    void connection.sendDiagnostics({ uri, version, diagnostics: list });
  };
  const publish = (uri: string): void => {
    void settingsRead.then(() => publishNow(uri));
  };
  const schedule = (uri: string): void => {
    clearTimeout(timers.get(uri));
    timers.set(uri, setTimeout(() => {
      timers.delete(uri);
      publish(uri);
    }, DIAGNOSTICS_DELAY_MS));
  };
  const republishAll = (): void => {
    states.invalidate();
    for (const d of documents.all()) schedule(d.uri);
    void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
    void connection.sendRequest('workspace/inlayHint/refresh').catch(() => undefined);
  };

  // A runs folder outside the workspace is not under the workspace-wide watcher; a completed run there must re-validate too.
  let runsWatcher: Promise<Disposable> | undefined;
  let watchedRunsDir: string | undefined;
  const watchRunsFolder = (): void => {
    if (!watchDynamically || !watchRelative) return;
    const dir = runs.runsDirFor(undefined);
    if (dir === watchedRunsDir) return;
    watchedRunsDir = dir;
    const previous = runsWatcher;
    runsWatcher = dir === undefined ? undefined : connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: { baseUri: pathToFileURL(dir).toString(), pattern: RUN_FILES_GLOB } }] });
    void previous?.then((d) => d.dispose(), () => undefined);
  };
  const runsFolderMoved = (): void => {
    republishAll();
    watchRunsFolder();
  };

  /**
   * Reads the runs folder setting: asked for (`workspace/configuration`) when the client
   * answers such requests, else taken from what it pushed. Documents are re-validated when
   * the folder it names changes.
   */
  const readSettings = async (pushed?: unknown): Promise<void> => {
    let value: unknown;
    if (pullSettings) {
      try {
        value = await connection.workspace.getConfiguration({ section: RUNS_DIRECTORY_SETTING });
      } catch (e) {
        connection.console.error(`reading ${RUNS_DIRECTORY_SETTING} failed: ${String(e)}`);
        return;
      }
    } else {
      const found = runsDirectoryOfPushed(pushed);
      if (!found) return;
      value = found.value;
    }
    if (runs.setRunsDirectory(value)) runsFolderMoved();
  };

  connection.onInitialize((params) => {
    const workspace = params.capabilities.workspace;
    watchDynamically = Boolean(workspace?.didChangeWatchedFiles?.dynamicRegistration);
    watchRelative = Boolean(workspace?.didChangeWatchedFiles?.relativePatternSupport);
    pullSettings = Boolean(workspace?.configuration);
    settingsChangeRegistration = Boolean(workspace?.didChangeConfiguration?.dynamicRegistration);
    folderChanges = Boolean(workspace?.workspaceFolders);
    runs.setWorkspaceFolders(params.workspaceFolders);
    return {
      capabilities: {
        ...(folderChanges ? { workspace: { workspaceFolders: { supported: true, changeNotifications: true } } } : {}),
        textDocumentSync: TextDocumentSyncKind.Incremental,
        completionProvider: { triggerCharacters: [':', ' ', '.', '/', '[', ',', '-'] },
        hoverProvider: true,
        codeLensProvider: { resolveProvider: false },
        inlayHintProvider: true,
        documentSymbolProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      },
      serverInfo: { name: 'adapter-lab', version: '0.1.0' },
    };
  });
  connection.onInitialized(() => {
    // Model folders and data files change under the editor; findings about them must follow.
    if (watchDynamically) {
      void connection.client.register(DidChangeWatchedFilesNotification.type, {
        watchers: [{ globPattern: '**/{config.json,model.safetensors,vocab.txt,tokenizer.json,*.tsv,*.csv,*.jsonl,*.json}' }],
      });
    }
    watchRunsFolder();
    // The runs folder follows adapterLab.runsDirectory: ask to be told when the section changes, then read it.
    if (settingsChangeRegistration) void connection.client.register(DidChangeConfigurationNotification.type, { section: SETTINGS_SECTION });
    if (pullSettings) {
      settingsRead = Promise.race([readSettings(), new Promise<void>((resolve) => setTimeout(resolve, SETTINGS_WAIT_MS))]);
    }
    // The default runs folder is in the first workspace folder, so a change of folders can move it.
    if (folderChanges) {
      connection.workspace.onDidChangeWorkspaceFolders(() => {
        void connection.workspace.getWorkspaceFolders().then(
          (folders) => {
            if (runs.setWorkspaceFolders(folders)) runsFolderMoved();
          },
          (e: unknown) => connection.console.error(`reading the workspace folders failed: ${String(e)}`),
        );
      });
    }
  });
  connection.onDidChangeWatchedFiles(() => republishAll());
  connection.onDidChangeConfiguration((p) => void readSettings(p.settings));

  documents.onDidOpen((e) => publish(e.document.uri));
  documents.onDidChangeContent((e) => schedule(e.document.uri));
  documents.onDidClose((e) => {
    clearTimeout(timers.get(e.document.uri));
    timers.delete(e.document.uri);
    states.invalidate(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  // Completion reads the cursor's context from the current text; the model and columns may come from the last validation.
  connection.onCompletion((p) => withState(p.textDocument.uri, 'completion', [], (s) => completion(s, p.position), false));
  connection.onHover((p) => withState(p.textDocument.uri, 'hover', null, (s) => hover(s, p.position)));
  connection.onCodeLens((p) => withState(p.textDocument.uri, 'codeLens', [], (s) => codeLenses(s)));
  connection.languages.inlayHint.on((p) => withState(p.textDocument.uri, 'inlayHint', [], (s) => inlayHints(s, p.range)));
  connection.onDocumentSymbol((p) => withState(p.textDocument.uri, 'documentSymbol', [], (s) => documentSymbols(s)));
  connection.onCodeAction((p) => withState(p.textDocument.uri, 'codeAction', [], (s) => codeActions(s, p.range, p.context.diagnostics)));

  documents.listen(connection);
  connection.listen();
}

process.on('uncaughtException', (e) => {
  // Logged to stderr (the client's output channel); the connection stays up.
  process.stderr.write(`adapter-lab server: uncaught ${e.stack ?? String(e)}\n`);
});

startServer(createConnection(ProposedFeatures.all));

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
  DidChangeWatchedFilesNotification,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { DocumentStates, type DocumentState } from './documentState';
import { codeActions } from './features/codeActions';
import { codeLenses } from './features/codeLens';
import { completion } from './features/completion';
import { diagnostics } from './features/diagnostics';
import { documentSymbols } from './features/documentSymbols';
import { hover } from './features/hover';
import { inlayHints } from './features/inlayHints';

/** Diagnostics wait this long after the last keystroke, so a burst of edits validates once. */
const DIAGNOSTICS_DELAY_MS = 50;

export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const states = new DocumentStates();
  const timers = new Map<string, NodeJS.Timeout>();
  let watchDynamically = false;

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

  const publish = (uri: string): void => {
    const document = documents.get(uri);
    if (!document) return;
    const version = document.version;
    const list = guard('diagnostics', [], () => diagnostics(states.get(document)));
    void connection.sendDiagnostics({ uri, version, diagnostics: list });
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

  connection.onInitialize((params) => {
    watchDynamically = Boolean(params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration);
    return {
      capabilities: {
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
  });
  connection.onDidChangeWatchedFiles(() => republishAll());

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

/**
 * One validation per document version, shared by every feature: completion, hover and
 * lenses read the same result the diagnostics came from.
 */
import { fileURLToPath } from 'node:url';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { ProjectFiles, resolveRunsDir, validateExperiment, type Validation } from '../../engine/config';

export interface DocumentState {
  readonly document: TextDocument;
  readonly text: string;
  readonly validation: Validation;
  /** Absolute path for `file:` documents; undefined for unsaved ones. */
  readonly filePath: string | undefined;
  /** The cache of model and data files the validation read. */
  readonly files: ProjectFiles;
  /** The runs folder `fusion.adapters` names were looked up in; hover and completion use the same. */
  readonly runsDir: string | undefined;
}

export class DocumentStates {
  private readonly cache = new Map<string, { version: number; state: DocumentState }>();
  readonly files = new ProjectFiles();

  /**
   * `runsDirFor`: the runs folder for a file path (the extension's, which the server learns
   * from the client); by default, with no workspace folder or setting known, beside the file.
   */
  constructor(private readonly runsDirFor: (filePath: string | undefined) => string | undefined = (file) => resolveRunsDir('', undefined, file)) {}

  get(document: TextDocument): DocumentState {
    const hit = this.cache.get(document.uri);
    if (hit && hit.version === document.version) return hit.state;
    const state = this.compute(document);
    this.cache.set(document.uri, { version: document.version, state });
    return state;
  }

  /**
   * The current text with the most recent validation, even if it is of an older version:
   * completion needs only the model's shape and the data's columns from it, and must not
   * wait for a full re-validation on every keystroke.
   */
  latest(document: TextDocument): DocumentState {
    const hit = this.cache.get(document.uri);
    if (!hit) return this.get(document);
    if (hit.version === document.version) return hit.state;
    return { ...hit.state, document, text: document.getText() };
  }

  /** Forgets results so that the next request re-reads files on disk (model or data changed). */
  invalidate(uri?: string): void {
    if (uri) this.cache.delete(uri);
    else this.cache.clear();
  }

  private compute(document: TextDocument): DocumentState {
    const text = document.getText();
    const filePath = document.uri.startsWith('file:') ? safeFilePath(document.uri) : undefined;
    const runsDir = this.runsDirFor(filePath);
    const validation = validateExperiment(text, filePath ? { filePath, files: this.files, ...(runsDir !== undefined ? { runsDir } : {}) } : { files: this.files });
    return { document, text, validation, filePath, files: this.files, runsDir };
  }
}

function safeFilePath(uri: string): string | undefined {
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

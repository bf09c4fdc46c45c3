/** A language-server test suite's fixture: a standard workspace and a started server, torn down after. */
import { after, before } from 'node:test';
import { standardWorkspace, type Workspace } from './fixtures';
import { LspClient } from './lspClient';

export interface ServerSuite {
  readonly ws: Workspace;
  readonly client: LspClient;
}

/** Call inside `describe`: the fields are set before the first test runs. */
export function useServerSuite(setup?: (ws: Workspace) => void): ServerSuite {
  const suite = {} as { ws: Workspace; client: LspClient };
  before(async () => {
    suite.ws = standardWorkspace();
    setup?.(suite.ws);
    suite.client = await LspClient.start();
  });
  after(async () => {
    await suite.client.stop();
    suite.ws.dispose();
  });
  return suite;
}

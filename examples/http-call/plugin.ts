// Asks another service before letting a request through: at request headers the stream is
// paused and an http_call goes to the cluster "auth" (GET /check, with the request's
// x-user header). A 200 answer resumes the request and remembers the answer's body (a field:
// an HttpContext lives per stream), sent back as the response header x-auth-user; anything
// else, or no answer within 2 s, is a local 403.

import { Action, definePlugin, HttpContext, RootContext, type HttpCallResponse } from '../../src/sdk/index.js';

const CLUSTER = 'auth';
const TIMEOUT_MS = 2000;

class AuthRoot extends RootContext {}

class CheckAuth extends HttpContext<AuthRoot> {
  private user: string | undefined;

  override onRequestHeaders(): Action {
    const user = this.getRequestHeader('x-user') ?? '';
    this.httpCall(CLUSTER, [[':method', 'GET'], [':path', '/check'], [':authority', CLUSTER], ['x-user', user]], '', [], TIMEOUT_MS,
      (response) => this.decide(response));
    return Action.Pause; // until decide() runs
  }

  override onResponseHeaders(): Action {
    if (this.user !== undefined) this.addResponseHeader('x-auth-user', this.user);
    return Action.Continue;
  }

  /** Runs with this stream's context effective (the SDK restores it for the callback). */
  private decide(response: HttpCallResponse): void {
    if (response.status === 200) {
      this.user = response.bodyText();
      this.continueRequest();
      return;
    }
    this.log.info(`http-call: refused (auth answered ${response.failed ? 'nothing' : response.status})`);
    this.sendLocalResponse(403, 'forbidden\n');
  }
}

export default definePlugin({ name: 'http-call', root: AuthRoot, http: CheckAuth });

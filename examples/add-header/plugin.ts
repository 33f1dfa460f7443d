// Adds a response header to every response. Its name and value come from the plugin's
// configuration ({"name": "...", "value": "..."}), checked at start: a bad configuration fails
// the plugin with a log line naming the key.

import { Action, definePlugin, HttpContext, RootContext } from '../../src/sdk/index.js';

class HeaderRoot extends RootContext {
  headerName = 'x-example';
  headerValue = 'hello';

  override onConfigure(): boolean {
    const text = this.getPluginConfiguration();
    if (text === undefined) return true; // keep the defaults
    const config = JSON.parse(text) as Record<string, unknown>; // a throw fails the start, logged
    for (const key of ['name', 'value'] as const) {
      if (config[key] !== undefined && typeof config[key] !== 'string') {
        this.log.error(`add-header: configuration key "${key}" must be a string`);
        return false;
      }
    }
    this.headerName = (config.name as string | undefined) ?? this.headerName;
    this.headerValue = (config.value as string | undefined) ?? this.headerValue;
    return true;
  }
}

class AddHeader extends HttpContext<HeaderRoot> {
  override onResponseHeaders(): Action {
    this.addResponseHeader(this.root.headerName, this.root.headerValue);
    return Action.Continue;
  }
}

export default definePlugin({ name: 'add-header', root: HeaderRoot, http: AddHeader });

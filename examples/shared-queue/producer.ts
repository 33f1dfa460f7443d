// The producer half of a shared-queue pair: an HTTP filter that enqueues the path of every
// request to the queue "example_paths" of the VM "consumer" (consumer.ts), resolving the
// queue lazily (the consumer may start after the first request).

import { definePlugin, MapType, RootContext, StatelessHttpContext, hostcalls } from '../../src/sdk/index.js';

export const CONSUMER_VM_ID = 'consumer';
export const QUEUE_NAME = 'example_paths';

const PATH = hostcalls.headerQuery([[MapType.HttpRequestHeaders, ':path']]);

class ProducerRoot extends RootContext {
  private queueId: number | undefined;

  send(message: string): void {
    this.queueId ??= this.resolveSharedQueue(CONSUMER_VM_ID, QUEUE_NAME);
    if (this.queueId === undefined) {
      this.log.warn(`shared-queue producer: queue ${QUEUE_NAME} not found yet; dropped ${message}`);
      return;
    }
    if (!this.enqueueSharedQueue(this.queueId, message)) this.queueId = undefined; // gone: resolve again next time
  }
}

class Produce extends StatelessHttpContext<ProducerRoot> {
  override onLog(): void {
    const [path] = this.getHeaderValuesOfMaps(PATH);
    this.root.send(path ?? '-');
  }
}

export default definePlugin({ name: 'shared-queue-producer', root: ProducerRoot, http: Produce });

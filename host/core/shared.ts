// Process-wide shared state, as in proxy-wasm-cpp-host: shared data (namespaced by vm_id, with
// CAS) and shared queues (registered by a VM under vm_id + name, enqueued from any VM).

import { Status } from '../../src/abi/table.js';
import type { Bytes } from './bytes.js';

export class SharedData {
  private readonly byVmId = new Map<string, Map<string, { value: Bytes; cas: number }>>();
  private nextCas = 1;

  get(vmId: string, key: string): { value: Bytes; cas: number } | Status.NotFound {
    return this.byVmId.get(vmId)?.get(key) ?? Status.NotFound;
  }

  /** cas 0 always writes; otherwise the stored cas must match (CasMismatch). */
  set(vmId: string, key: string, value: Bytes, cas: number): Status {
    let map = this.byVmId.get(vmId);
    if (!map) this.byVmId.set(vmId, (map = new Map()));
    const entry = map.get(key);
    if (entry && cas !== 0 && cas !== entry.cas) return Status.CasMismatch;
    map.set(key, { value, cas: this.takeCas() });
    return Status.Ok;
  }

  private takeCas(): number {
    const cas = this.nextCas;
    this.nextCas = this.nextCas >= 0xffffffff ? 1 : this.nextCas + 1;
    return cas;
  }
}

/** Who gets proxy_on_queue_ready for a queue: the registering VM's root context. */
export interface QueueOwner {
  readonly contextId: number;
  notify(queueId: number, contextId: number): void;
}

interface Queue {
  owner: QueueOwner;
  readonly items: Bytes[];
}

export class SharedQueues {
  private readonly tokens = new Map<string, number>();
  private readonly queues = new Map<number, Queue>();
  private nextToken = 1;

  private static key(vmId: string, name: string): string {
    return `${vmId}\u0000${name}`;
  }

  /** Registers (or re-registers: the last owner wins, data kept) and returns the queue id. */
  register(vmId: string, name: string, owner: QueueOwner): number {
    const key = SharedQueues.key(vmId, name);
    let token = this.tokens.get(key);
    if (token === undefined) {
      token = this.nextToken++;
      this.tokens.set(key, token);
      this.queues.set(token, { owner, items: [] });
    } else {
      this.queues.get(token)!.owner = owner;
    }
    return token;
  }

  resolve(vmId: string, name: string): number | undefined {
    return this.tokens.get(SharedQueues.key(vmId, name));
  }

  /** Queues the value and tells the owner asynchronously (the owner's dispatcher, in Envoy). */
  enqueue(token: number, value: Bytes): Status {
    const queue = this.queues.get(token);
    if (!queue) return Status.NotFound;
    queue.items.push(value);
    const owner = queue.owner;
    setImmediate(() => owner.notify(token, owner.contextId));
    return Status.Ok;
  }

  dequeue(token: number): Bytes | Status {
    const queue = this.queues.get(token);
    if (!queue) return Status.NotFound;
    const item = queue.items.shift();
    return item ?? Status.Empty;
  }

  /** Drops the queues a VM owns when it goes away (cpp-host does this per vm_id). */
  dropOwner(owner: QueueOwner): void {
    for (const [key, token] of this.tokens) {
      if (this.queues.get(token)?.owner === owner) {
        this.queues.delete(token);
        this.tokens.delete(key);
      }
    }
  }
}

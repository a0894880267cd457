// ioredis's Sentinel connector, changed so that a failover announced during a reconnect cannot end the connection for good.
import { SentinelConnector } from 'ioredis';

type ConnectorEmitter = Parameters<SentinelConnector['connect']>[0];

/**
 * ioredis's SentinelConnector keeps the failover detector of the connection it made last (its
 * subscriptions to `+switch-master` on the sentinels) until it makes the next one. When the master
 * dies the client reconnects in a loop, asking the sentinels each time; if the failover is
 * announced while such an attempt is under way, that old detector disconnects the connector in the
 * middle of it, the attempt fails with "Connection is closed." and ioredis sets the client's status
 * to `end`: it never reconnects again (test/integration/connection-heal.test.ts reproduces it).
 * A new attempt asks the sentinels anyway, so the old detector has nothing left to watch: it is
 * retired as the attempt starts. The next connection made gets a detector of its own, as before.
 */
export class HealingSentinelConnector extends SentinelConnector {
  override connect(eventEmitter: ConnectorEmitter): ReturnType<SentinelConnector['connect']> {
    const self = this as unknown as { failoverDetector: { cleanup(): void } | null };
    self.failoverDetector?.cleanup();
    self.failoverDetector = null;
    return super.connect(eventEmitter);
  }
}

// The leak checks' bookkeeping: values planted in a flow (canaries), every response body the
// browser or a request received, and the check that no planted value (nor its base64) came back
// in any of them or in the server's log.
import { readFileSync } from 'node:fs';
import { expect, type Page } from '@playwright/test';

export class Leaks {
  private readonly planted: string[] = [];
  private readonly bodies: string[] = [];

  /** A fresh random value to type somewhere, remembered for the check. */
  canary(what: string): string {
    const value = `canary-${what}-${Math.random().toString(36).slice(2, 10)}`;
    this.planted.push(value);
    return value;
  }

  /** A value that came from elsewhere (a fixture file), checked like a canary. */
  plant(value: string): void {
    this.planted.push(value);
  }

  /** The latest planted value. */
  last(): string {
    return this.planted[this.planted.length - 1];
  }

  /** Keeps every response body `page` receives. */
  watch(page: Page): void {
    page.on('response', async (response) => {
      try {
        this.bodies.push(await response.text());
      } catch {
        // Redirects and aborted requests have no body.
      }
    });
  }

  record(body: string): void {
    this.bodies.push(body);
  }

  /**
   * No planted value in any body kept or in the log; `shown`, a text the pages do show (a key
   * name), must be among the bodies, so the check is known to have seen them.
   */
  expectNoneCameBack(log: string, shown: string, atLeast: { planted: number; bodies: number }): void {
    expect(this.planted.length).toBeGreaterThanOrEqual(atLeast.planted);
    expect(this.bodies.length).toBeGreaterThanOrEqual(atLeast.bodies);
    expect(this.bodies.some((text) => text.includes(shown))).toBe(true);
    const everything = [...this.bodies, readFileSync(log, 'utf8')];
    for (const value of this.planted) {
      const encoded = Buffer.from(value).toString('base64');
      for (const text of everything) {
        expect(text.includes(value) || text.includes(encoded), `a value came back: ${value}`).toBe(false);
      }
    }
  }
}

// Helpers shared by the browser tests: the server's address and signing in.
import type { Page } from '@playwright/test';

export const url = (path: string) => `${process.env.KEYHOLD_URL}${path}`;

/** The demo users' password (DESIGN.md §4's demo organisation). */
export const DEMO_PASSWORD = 'keyhold-demo';

/** Signs `page`'s browser context in through the sign-in server function, as the form would. */
export async function signIn(page: Page, user: string, password = DEMO_PASSWORD, base = url('')): Promise<void> {
  const response = await page.request.post(`${base}/api/sign_in`, {
    form: { username: user, password, next: '/' },
    headers: { Origin: base },
  });
  if (!response.ok()) throw new Error(`sign-in as ${user} failed: ${response.status()} ${await response.text()}`);
}

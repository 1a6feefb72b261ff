// A server URL as messages may show it: its password hidden.

/** `url` without its password; `what` names it when it does not parse ("the Redis URL ..."). */
export function maskedUrl(url: string, what: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return `the ${what} URL (it does not parse as a URL)`;
  }
}

// A request the agent refuses (local API, tray app), with the HTTP status it is answered with.
export class AgentRequestError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'AgentRequestError';
  }
}

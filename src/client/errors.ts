// Errors the SDK throws: the server's code, message and field, plus the HTTP status for REST calls.
// DISCONNECTED and TIMEOUT are the SDK's own codes (the request may or may not have been carried out).

export class PchatApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'PchatApiError';
  }
}

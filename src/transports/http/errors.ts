// Error mapping for HTTP: a PchatError's code gives the status (from the one ERRORS registry) and the body
// { "error": { code, message, field? } }. Anything that is not a PchatError becomes INTERNAL and is logged.
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { asPchatError, ERRORS, invalid, PchatError } from '../../core/errors.js';

export interface ErrorBody {
  error: { code: string; message: string; field?: string; details?: Record<string, unknown> };
}

/** Converts anything thrown (zod issues included) into a PchatError. */
export function toPchatError(e: unknown): PchatError {
  if (e instanceof z.ZodError) {
    const issue = e.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
    return invalid(field, issue?.message ?? 'invalid');
  }
  return asPchatError(e);
}

export function errorBody(err: PchatError): ErrorBody {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.field ? { field: err.field } : {}),
      ...(err.details ? { details: err.details } : {}),
    },
  };
}

export function sendError(res: ServerResponse, err: PchatError, status: number = ERRORS[err.code].status): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(err));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** The 404 of an unknown route: no dedicated code in the registry, so BAD_REQUEST with status 404. */
export function routeNotFound(method: string, path: string): { err: PchatError; status: number } {
  return { err: new PchatError('BAD_REQUEST', `No such route: ${method} ${path}`), status: 404 };
}

// Error mapping for HTTP: anything thrown in a request (a PchatError, a schema refusal, a Fastify body error,
// a store driver failure) becomes a PchatError and a status, sent as {"error": {code, message, field?}}.
import { z } from 'zod';
import { asPchatError, ERRORS, invalid, PchatError } from '../../core/errors.js';

export interface ErrorBody {
  error: { code: string; message: string; field?: string; details?: Record<string, unknown> };
}

interface SchemaIssue {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: { keys?: string[] };
}

/** The field a schema issue is about: the unknown key itself, or the path of the wrong value. */
function issueField(issue: SchemaIssue, context: string | undefined): string {
  const path = (issue.instancePath ?? '').replace(/^\//, '').split('/').filter(Boolean).join('.');
  const key = issue.keyword === 'unrecognized_keys' ? issue.params?.keys?.[0] : undefined;
  const field = [path, key].filter(Boolean).join('.');
  return field || (context === 'querystring' ? 'query' : (context ?? 'body'));
}

function issueMessage(issue: SchemaIssue): string {
  if (issue.keyword === 'unrecognized_keys') return 'unknown field';
  if (issue.keyword === 'invalid_type' && /received undefined/.test(issue.message ?? '')) return 'is required';
  return (issue.message ?? 'invalid').replace(/^Invalid input: /, '');
}

/** Converts anything thrown into a PchatError and the HTTP status to send it with. */
export function httpError(e: unknown): { err: PchatError; status: number } {
  const withStatus = e as { httpStatus?: number };
  if (e instanceof PchatError) return { err: e, status: withStatus.httpStatus ?? ERRORS[e.code].status };
  const fe = e as {
    code?: string;
    statusCode?: number;
    validation?: SchemaIssue[];
    validationContext?: string;
    message?: string;
  };
  if (Array.isArray(fe.validation)) {
    // an unknown field is the likelier mistake (a typo): name it before the fields it may have been meant as
    const issue = fe.validation.find((i) => i.keyword === 'unrecognized_keys') ?? fe.validation[0] ?? {};
    const field = issueField(issue, fe.validationContext);
    return { err: invalid(field, issueMessage(issue)), status: 400 };
  }
  if (e instanceof z.ZodError) {
    const issue = e.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
    return { err: invalid(field, issue?.message ?? 'invalid'), status: 400 };
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { err: new PchatError('FRAME_TOO_LARGE', 'body: larger than allowed'), status: 413 };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { err: new PchatError('BAD_REQUEST', 'The Content-Type of the body is not accepted here.'), status: 415 };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { err: new PchatError('BAD_REQUEST', fe.message ?? 'The body is malformed.'), status: 400 };
  }
  // A request aborted by its client, or another 4xx Fastify raised on its own (bad URL, bad header…).
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { err: new PchatError('BAD_REQUEST', 'The request is malformed.'), status: fe.statusCode };
  }
  const err = asPchatError(e);
  return { err, status: ERRORS[err.code].status };
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

/** Converts anything thrown (zod issues included) into a PchatError. */
export function toPchatError(e: unknown): PchatError {
  return httpError(e).err;
}

// In-band provisioning: SUBSCRIBE Event: vnd-microsoft-provisioning-v2 → 200 with the provisioning document
// piggybacked. It carries the persistentChatConfiguration group (the pool URI SIPE INVITEs next) only for
// users whose policy enables persistent chat (xccos-sip.md §2.1).
import { el } from '../xccos/xml.js';
import { createResponse, type SipRequest, type SipResponse } from './codec.js';
import { getTag } from './uri.js';

export const PROVISIONING_EVENT = 'vnd-microsoft-provisioning-v2';
export const PROVISIONING_CONTENT_TYPE = 'application/vnd-microsoft-roaming-provisioning-v2+xml';
const PROVISION_NS = 'http://schemas.microsoft.com/2006/09/sip/provisiongrouplist';

/** The provisionGroupList document; empty (no groups) when persistent chat is off for the user. */
export function provisioningDocument(opts: { chatEnabled: boolean; poolUri: string }): string {
  const groups = opts.chatEnabled
    ? el(
        'provisionGroup',
        { name: 'persistentChatConfiguration' },
        el(
          'propertyEntryList',
          {},
          el('property', { name: 'EnablePersistentChat' }, 'true'),
          el('property', { name: 'DefaultPersistentChatPoolUri' }, opts.poolUri),
        ),
      )
    : undefined;
  return el('provisionGroupList', { xmlns: PROVISION_NS }, groups).xml;
}

/** The event package of a SUBSCRIBE (`Event: name;id=…` → `name`), lower-cased. */
export function eventPackage(req: SipRequest): string {
  return (req.headers.get('event') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Answers a SUBSCRIBE from a registered user. Only the provisioning event is supported (489 otherwise);
 * the subscription is one-off (Expires: 0): the document travels in the 200, never in a NOTIFY.
 */
export function handleSubscribe(req: SipRequest, opts: { chatEnabled: boolean; poolUri: string }): SipResponse {
  const toTag = getTag(req.headers.get('to')) ? undefined : `p${Math.random().toString(36).slice(2, 10)}`;
  if (eventPackage(req) !== PROVISIONING_EVENT) {
    return createResponse(req, 489, { toTag, headers: [['Allow-Events', PROVISIONING_EVENT]] });
  }
  return createResponse(req, 200, {
    toTag,
    headers: [
      ['Event', PROVISIONING_EVENT],
      ['Expires', '0'],
      ['ms-piggyback-cseq', '1'],
      ['Content-Type', PROVISIONING_CONTENT_TYPE],
    ],
    body: provisioningDocument(opts),
  });
}

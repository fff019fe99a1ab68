// The pchat client SDK: REST calls (PchatClient) and the live WebSocket connection (PchatConnection).
export { type AdminRoomInput, type ClientOptions, PchatClient, type UploadBody } from './client.js';
export { type ConnectionEvents, type ConnectOptions, PchatConnection } from './connection.js';
export { PchatApiError } from './errors.js';
export type * from './types.js';

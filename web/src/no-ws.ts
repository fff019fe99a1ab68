// Stands in for the `ws` package in the browser bundle: browsers have a global WebSocket, which the SDK uses.
export const WebSocket = globalThis.WebSocket;

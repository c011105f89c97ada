// Stub of webrtc-polyfill (see package.json): no WebRTC; webtorrent then uses TCP peers only.
export const RTCPeerConnection = undefined;
export const RTCSessionDescription = undefined;
export const RTCIceCandidate = undefined;
export default {};

// Test helpers for packages that talk to the Hub: a local imitation of its HTTP API.
export { FakeHub, type LoggedRequest, failureOf, sendJson } from "./fake-hub.js";
export { type HostileCase, craftZip, hostileBins, hostileSafetensors, legacyViewCheckpoint, safetensorsFile, torchArchive } from "./hostile.js";

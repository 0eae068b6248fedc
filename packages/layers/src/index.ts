export {};
export * from "./optim/index.js";

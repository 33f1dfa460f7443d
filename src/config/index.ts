export * from './fields.js';
export * from './sender.js';
export * from './receiver.js';

export { createClickGenerator } from './click-generator.ts';
export { ClickGeneratorOptionsError } from './generator-options.ts';
export type { ClickGeneratorOptions } from './generator-options.ts';
export type {
  GeneratedClick,
  GeneratedClickMessage,
  GeneratedInvalidMessage,
  GeneratedMessage,
  GeneratedInvalidReason,
} from './generated-message.ts';

export {
  rotateAgencyKey,
  rotateNotaryKey,
  type RotateAgencyKeyParameters,
  type KeyRotationParameters,
  type RotationResult,
  type RotationStep,
} from './rotate.js';

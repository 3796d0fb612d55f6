import { z } from 'zod';
import { agencySchema, deviceSchema, officerSchema } from '../../../src/index.js';

/** The `supervision` section of the gateway config (see service.ts for who journals what). */
export const supervisionConfigSchema = z
  .strictObject({
    /** The supervision body's agency code. @default JN-SFJ (济南市司法局) */
    agency: agencySchema.default('JN-SFJ'),
    /** Device chain of supervisors' decisions (finding actions, feedback steps). */
    decisionsDevice: deviceSchema.default('supervision-decisions'),
    /** Device chain of citizens' feedback (码上监督). */
    feedbackDevice: deviceSchema.default('supervision-feedback'),
    /** Device chain of issued evidence certificates (出证). */
    certificatesDevice: deviceSchema.default('supervision-certificates'),
    /** `officer` of records the gateway journals for the public (feedback). */
    publicOfficer: officerSchema.default('public'),
    /** Time zone of the statistics' days, minutes east of UTC. @default 480 (UTC+8) */
    utcOffsetMinutes: z.number().int().min(-720).max(840).default(480),
    /** A request waits at most this long for the index to catch up with the journal, then answers with the figures as of `asOf`. */
    catchUpWaitMs: z.number().int().min(0).max(60_000).default(150),
    feedback: z
      .strictObject({
        /** Feedback per address per window (rateLimit.windowMs × 60, i.e. an hour by default). */
        perAddress: z.number().int().min(1).max(100_000).default(5),
        /** Feedback per record (leaf) per window. */
        perLeaf: z.number().int().min(1).max(100_000).default(20),
        /** Status lookups per address per window. */
        lookups: z.number().int().min(1).max(1_000_000).default(60),
        textChars: z.number().int().min(1).max(2000).default(2000),
      })
      .prefault({}),
  })
  .prefault({});

export type SupervisionConfig = z.output<typeof supervisionConfigSchema>;

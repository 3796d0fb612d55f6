import { z } from 'zod';
import { agencySchema } from '../../../src/index.js';
import { ROLES, tokenIdSchema, tokenLabelSchema } from '../../auth/tokens.js';

export const createTokenSchema = z
  .strictObject({ role: z.enum(ROLES), agency: agencySchema.optional(), label: tokenLabelSchema })
  .refine((b) => (b.role === 'agency') === (b.agency !== undefined), {
    message: 'agency is required for role agency and refused for the other roles',
    path: ['agency'],
  })
  .meta({ id: 'CreateToken' });

export const tokenIdParams = z.strictObject({ id: tokenIdSchema });

export const tokenInfoSchema = z
  .object({
    id: z.string(),
    role: z.enum(ROLES),
    agency: z.string().optional(),
    label: z.string(),
    createdAt: z.string(),
    createdBy: z.string(),
    revokedAt: z.string().optional(),
  })
  .meta({ id: 'TokenInfo' });

export const createdTokenSchema = tokenInfoSchema.extend({ token: z.string().describe('shown once: only its SHA-256 is kept') }).meta({ id: 'CreatedToken' });

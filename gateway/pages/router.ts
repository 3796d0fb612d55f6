import { Router } from 'express';

/** The web pages (Verify, Case, Device) and their static assets. Filled by the pages module. */
export function createPagesRouter(): Router {
  return Router();
}

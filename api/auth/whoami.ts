/**
 * `kubectl auth whoami`: POST /apis/authentication.k8s.io/v1/selfsubjectreviews answers with the attributes the
 * server authenticated the caller as. The request body carries nothing of use (only metadata), so it is not read.
 */
import express, { type RequestHandler } from 'express';
import { forPaths } from '../server/route-filter';
import { getUser } from './middleware';

export function selfSubjectReviewRouter(): RequestHandler {
  const router = express.Router();
  router.post('/apis/authentication.k8s.io/v1/selfsubjectreviews', (req, res, next) => {
    const user = getUser(req);
    if (!user) return next(new Error('selfSubjectReviewRouter needs authenticationMiddleware mounted before it'));
    req.resume(); // drain the unread body
    res.status(201).json({
      kind: 'SelfSubjectReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      status: { userInfo: { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups } },
    });
  });
  return forPaths(/^\/apis\/authentication\.k8s\.io\//i, router);
}

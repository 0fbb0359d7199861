// What a gallery story is: moments of a fixed day, each what the detector
// shows then (its condition views) or a notice, and what the watcher's
// policy must decide about it. The stories (stories.ts) are data; play.ts
// runs them through the real policy and Slack formatting.
import type { ConditionView } from '../watcher/detect/index.js';
import type { NoticeNotification } from '../watcher/policy/index.js';
import type { Decision, MessageKind } from '../watcher/vocabulary.js';

export interface Story {
  /** The section's heading. */
  title: string;
  /** A paragraph under it: what the story shows. */
  intro: string;
  steps: Step[];
}

export interface Step {
  at: number;
  /** What happens now, a sentence or two as the story tells it. */
  what: string;
  /** Every condition the detector shows now: the policy compares each with Slack's last word. */
  views?: ConditionView[];
  /** One-off news (a release step, a planned switch, a restart): through the policy, as the pipeline sends it. */
  notice?: NoticeNotification;
  /** Maintenance on or off from this step on (`make maintenance-on` / `-off`); off at the start. */
  maintenance?: boolean;
  /** `make test-alert` by this operator: not a notification, it posts its own marked message. */
  testAlert?: { who: string };
  /**
   * What the policy decides now, in order: the gallery fails to build when
   * it decides otherwise, so no story tells what the code does not do.
   * Empty: nothing is sent, and `what` says why.
   */
  expect: Expected[];
}

export type Expected =
  | { decision: Extract<Decision, 'send' | 'defer'>; message: MessageKind; title: string; why: string }
  | { decision: 'suppress'; message: MessageKind };

/**
 * What a channel name may be: it is a path segment of the channel's URL
 * (`/api/webhook/{channel}`) and a CLI argument, so it needs no escaping.
 */
export const CHANNEL_NAME = /^[A-Za-z0-9._-]{1,64}$/;
export const CHANNEL_NAME_RULE = '1 to 64 letters, digits, dots, underscores or hyphens';

export function isChannelName(name: string): boolean {
  return CHANNEL_NAME.test(name) && name !== '.' && name !== '..';
}

/**
 * Control characters in text from the audit log, shown rather than sent. The kernel
 * hex-encodes a name that holds them and the parser decodes it, so a process or file
 * name can carry ESC, BEL and the like into our output (terminals, Markdown files).
 */

/** C0, DEL and C1 controls. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/** One control character as `\xHH`. */
export function hexEscape(character: string): string {
  return `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** Every control character in `text` as `\xHH`. */
export function showControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTERS, hexEscape);
}

/**
 * {@code ediff serve}: the paint-with-words canvas in the browser. {@link dev.ediff.serve.EDiffServer}
 * serves one page (plain HTML, CSS and JavaScript resources, nothing from elsewhere) and a small JSON
 * API over the public SDK; {@link dev.ediff.serve.ServeMain} is the command.
 */
package dev.ediff.serve;

// Package display is the rich-display API for notebook cells: values that
// render as HTML, Markdown, images, SVG, JSON, Vega-Lite v5 and Mermaid, and
// functions that publish them as display_data, update them by display id and
// clear the output. It is pre-imported in every Ferry Go kernel session.
package display

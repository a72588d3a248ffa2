/* SPDX-License-Identifier: MIT */
/*
 * html_assets.h - the static files of the HTML export's site (written
 * as style.css, site.js and favicon.svg). NUL-terminated; the bytes
 * never change between exports of one binary.
 */
#ifndef SCRIBE_HTML_ASSETS_H
#define SCRIBE_HTML_ASSETS_H

extern const char html_style_css[];
extern const char html_site_js[];
extern const char html_favicon_svg[];

#endif

/* libcurl. curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic, which Swift cannot call:
   each argument type gets a typed inline wrapper here. */
#ifndef RELYD_CCURL_SHIM_H
#define RELYD_CCURL_SHIM_H
#include <curl/curl.h>

/* Used for both CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION: they share this signature. */
typedef size_t (*relyd_curl_write_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode relyd_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode relyd_easy_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode relyd_easy_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode relyd_easy_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode relyd_easy_setopt_write_callback(CURL *h, CURLoption o, relyd_curl_write_callback v) { return curl_easy_setopt(h, o, v); }
/* CURLOPT_HTTPHEADER */
static inline CURLcode relyd_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode relyd_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode relyd_easy_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode relyd_easy_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLMcode relyd_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

/* CURL_GLOBAL_DEFAULT is built from other macros with |, which Swift does not import. */
static const long relyd_CURL_GLOBAL_DEFAULT = CURL_GLOBAL_DEFAULT;
/* The result of a CURLMSG_DONE message (a member of an anonymous union in CURLMsg). */
static inline CURLcode relyd_curlmsg_result(const CURLMsg *m) { return m->data.result; }
#endif

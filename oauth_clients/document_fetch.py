"""JSON documents fetched from the clients' own hosts (metadata documents, JWK Sets) through
DOT's SSRF-hardened fetcher: public addresses only, pinned IP, no redirects, bounded time
and size."""

from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from oauth2_provider.cimd import CIMDError, SafeMetadataFetcher, _validate_client_id_url
from oauth2_provider.settings import oauth2_settings


class JSONDocumentFetcher(SafeMetadataFetcher):
    def fetch_json(self, url: str) -> tuple[dict, int]:
        """GET a JSON document (a metadata document or a JWK Set) the SSRF-safe way."""
        netloc = urlsplit(url).netloc.lower()
        test_ca = settings.CIMD_TEST_FETCH_HOSTS.get(netloc)
        if test_ca is None:
            return super().fetch(url)
        return self._fetch_test_host(url, test_ca)

    def _fetch_test_host(self, url: str, ca_file: str) -> tuple[dict, int]:
        # Reached only for hosts listed in the test-only CIMD_TEST_FETCH_HOSTS setting,
        # which no environment variable sets: the local document server of the tests.
        parsed = _validate_client_id_url(url)
        timeout = oauth2_settings.CIMD_FETCH_TIMEOUT_SECONDS
        pool = urllib3.HTTPSConnectionPool(
            parsed.hostname, parsed.port or 443, ca_certs=ca_file, retries=False, timeout=timeout
        )
        try:
            path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
            response = pool.urlopen("GET", path, redirect=False, preload_content=False)
            try:
                return self._read_document(response)
            finally:
                response.release_conn()
        except urllib3.exceptions.HTTPError as error:
            raise CIMDError(f"could not fetch {url}: {error}") from error
        finally:
            pool.close()

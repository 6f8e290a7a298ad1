"""The origins that media URLs point at when media are in object storage (settings.MEDIA_ORIGINS)."""

from urllib.parse import urlsplit


def media_origins(backend: str, options: dict) -> list[str]:
    """Where media URLs point when they are not on this site: the origins pages must allow
    images from (Content-Security-Policy img-src). MEDIA_ORIGINS (comma-separated) overrides."""
    if backend != "storages.backends.s3.S3Storage":
        return []
    if options.get("custom_domain"):
        return [f"{options.get('url_protocol') or 'https:'}//{options['custom_domain'].split('/')[0]}"]
    region = options.get("region_name")
    endpoint = urlsplit(options.get("endpoint_url") or f"https://s3{f'.{region}' if region else ''}.amazonaws.com")
    # Path-style (endpoint/bucket/key) or virtual-hosted (bucket.endpoint/key), as boto chooses.
    return [
        f"{endpoint.scheme}://{endpoint.netloc}",
        f"{endpoint.scheme}://{options.get('bucket_name')}.{endpoint.netloc}",
    ]

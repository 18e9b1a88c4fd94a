"""github-sync: chat → GitHub issues, GitHub → chat notices, quoted replies → comments."""

SERVICE_NAME = "github-sync"

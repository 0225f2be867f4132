"""``termlinker models prepare | list | register | activate | rollback``: encoders and re-rankers."""

from __future__ import annotations

import argparse

from ..paths import DataDirs
from .common import Commands, add_group, bar, print_warnings


def add_parsers(sub: argparse._SubParsersAction) -> None:
    msub = add_group(sub, "models", help="prepare and list models")
    mprep = msub.add_parser("prepare", help="export the default encoder to ONNX (needs torch once)")
    mprep.add_argument("--force", action="store_true")
    msub.add_parser("list", help="installed encoders and re-rankers (* = active re-ranker; [zh] = active for zh)")
    mreg = msub.add_parser("register", help="register a GGUF re-ranker (its sha256 is recorded)")
    mreg.add_argument("name")
    mreg.add_argument("path")
    mreg.add_argument("--base-model", default="unknown", help="what the model was trained from")
    mreg.add_argument("--prompt", default=None, help="prompt template version (default: the re-ranker's)")
    mreg.add_argument("--adapter", metavar="LORA_GGUF",
                      help="a LoRA adapter GGUF that llama.cpp applies over PATH (then PATH is its base model)")
    mreg.add_argument("--activate", action="store_true")
    mact = msub.add_parser("activate", help="make a re-ranker the one --rerank uses")
    mact.add_argument("name")
    mact.add_argument("--language", metavar="LANG",
                      help="only for vocabularies of this language (e.g. zh); others keep theirs")
    mroll = msub.add_parser("rollback", help="re-activate the re-ranker that was active before")
    mroll.add_argument("--language", metavar="LANG", help="roll back the re-ranker of this language's vocabularies")


def prepare(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..models import ensure_encoder

    notes: list[str] = []
    folder = ensure_encoder(dirs.ensure(), force=args.force, progress=bar(args, "exporting"), notes=notes,
                            verify=True)
    print_warnings(notes)
    print(f"encoder ready at {folder} (every file matches its checksum)")
    return 0


def list_models(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..models import encoder_folder
    from ..rerank.registry import RerankerRegistry

    root = encoder_folder(dirs).parent
    for folder in sorted(root.glob("*/encoder.json")) if root.exists() else []:
        print(folder.parent.name, folder.parent)
    registry = RerankerRegistry(dirs)
    active = registry.active_name()
    languages = registry.language_actives()
    for name, model in sorted(registry.models().items()):
        mark = "*" if name == active else " "
        own = "".join(f" [{key}]" for key, chosen in languages.items() if chosen == name)
        print(f"{mark} re-ranker {name}{own} ({model.base_model}, prompt {model.prompt_version}) {model.path}"
              + (f" + LoRA adapter {model.adapter}" if model.adapter else ""))
    return 0


def _registry(dirs: DataDirs):
    from ..rerank.registry import RerankerRegistry

    return RerankerRegistry(dirs.ensure())


def register(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..rerank.prompt import DEFAULT_PROMPT

    model = _registry(dirs).register(args.name, args.path, args.base_model, args.prompt or DEFAULT_PROMPT,
                                     activate=args.activate, adapter=args.adapter)
    print(f"registered re-ranker {model.name} ({model.sha256[:12]}){' and activated it' if args.activate else ''}")
    return 0


def activate(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..rerank.registry import language_key

    key = language_key(args.language)
    _registry(dirs).activate(args.name, key)
    print(f"active re-ranker{f' for {key!r} vocabularies' if key else ''}: {args.name}")
    return 0


def rollback(args: argparse.Namespace, dirs: DataDirs) -> int:
    from ..rerank.registry import language_key

    key = language_key(args.language)
    name = _registry(dirs).rollback(key)
    print(f"rolled back; active re-ranker{f' for {key!r} vocabularies' if key else ''}: {name}")
    return 0


COMMANDS: Commands = {"models": {"prepare": prepare, "list": list_models, "register": register,
                                 "activate": activate, "rollback": rollback}}

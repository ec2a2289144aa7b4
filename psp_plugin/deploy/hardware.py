"""What the machine can do: CPU instruction-set features and device kinds.

The fast inference path chooses a precision from these facts (see
:mod:`psp_plugin.deploy.precision`). Everything here is read, never guessed:
CPU flags come from ``/proc/cpuinfo`` (Linux) and the quantized engines from
``torch.backends.quantized.supported_engines``.
"""
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Dict, FrozenSet, Optional

import torch

#: CPU flags that matter for low-precision inference, as Linux spells them.
RELEVANT_CPU_FLAGS = ('amx_bf16', 'amx_int8', 'amx_tile', 'avx512f', 'avx512_bf16',
                      'avx512_vnni', 'avx_vnni', 'avx2')


@dataclass(frozen=True)
class CpuFeatures:
    """Instruction-set facts about this CPU.

    Args:
        model_name (str): The CPU's marketing name (``model name`` in
            ``/proc/cpuinfo``), or ``platform.processor()`` elsewhere.
        flags (frozenset[str]): Those of :data:`RELEVANT_CPU_FLAGS` the CPU has.
        quantized_engines (frozenset[str]): ``torch.backends.quantized``
            engines this torch build offers, e.g. ``{'x86', 'fbgemm', 'onednn'}``.
        num_threads (int): ``torch.get_num_threads()`` when read.
    """

    model_name: str
    flags: FrozenSet[str] = field(default_factory=frozenset)
    quantized_engines: FrozenSet[str] = field(default_factory=frozenset)
    num_threads: int = 1

    @property
    def has_amx(self) -> bool:
        """True when the CPU has AMX tiles for bf16 matrix products."""
        return 'amx_bf16' in self.flags

    @property
    def has_vnni(self) -> bool:
        """True when the CPU has int8 dot-product instructions (VNNI)."""
        return bool({'avx512_vnni', 'avx_vnni', 'amx_int8'} & self.flags)

    @property
    def has_x86_int8_engine(self) -> bool:
        """True when torch offers the ``x86`` quantized engine on this build."""
        return 'x86' in self.quantized_engines

    @property
    def x86_int8_convs_use_onednn(self) -> bool:
        """True when torch's x86 engine runs (symmetric int8) convs on oneDNN here.

        torch packs them for oneDNN on AVX-512 VNNI (or AMX); the oneDNN engine
        must be built in for the plugin to call oneDNN's fused ops itself.
        """
        return bool({'avx512_vnni', 'amx_int8'} & self.flags) and 'onednn' in self.quantized_engines

    def as_dict(self) -> Dict[str, object]:
        """Return a JSON-ready description, including the derived properties."""
        described = asdict(self)
        described['flags'] = sorted(self.flags)
        described['quantized_engines'] = sorted(self.quantized_engines)
        described.update(has_amx=self.has_amx, has_vnni=self.has_vnni,
                         has_x86_int8_engine=self.has_x86_int8_engine)
        return described


def _read_cpuinfo(path: str) -> Dict[str, str]:
    """Return the first processor block of a ``/proc/cpuinfo``-style file."""
    fields: Dict[str, str] = {}
    if not os.path.exists(path):
        return fields
    with open(path, encoding='utf-8', errors='replace') as cpuinfo:
        for line in cpuinfo:
            if not line.strip():
                if fields:
                    break
                continue
            key, _, value = line.partition(':')
            fields.setdefault(key.strip(), value.strip())
    return fields


def read_cpu_features(cpuinfo_path: str = '/proc/cpuinfo') -> CpuFeatures:
    """Read this CPU's relevant features.

    Args:
        cpuinfo_path (str): Where to read the flags; tests point it at a file.
            Default: ``'/proc/cpuinfo'``. On systems without it the flags are
            empty, so the fast path falls back to what needs no special units.

    Returns:
        CpuFeatures: The model name, relevant flags and quantized engines.
    """
    fields = _read_cpuinfo(cpuinfo_path)
    all_flags = set(fields.get('flags', '').split())
    return CpuFeatures(
        model_name=fields.get('model name', platform.processor() or 'unknown CPU'),
        flags=frozenset(all_flags & set(RELEVANT_CPU_FLAGS)),
        quantized_engines=frozenset(torch.backends.quantized.supported_engines),
        num_threads=torch.get_num_threads())


def describe_device(device: torch.device,
                    cpu_features: Optional[CpuFeatures] = None) -> str:
    """Return one line naming the device, for logs and benchmark tables.

    Args:
        device (torch.device): The device the model runs on.
        cpu_features (CpuFeatures, optional): Pre-read CPU features.

    Returns:
        str: e.g. ``'CPU Intel(R) Xeon(R) ... (2 threads; avx512_bf16, avx512_vnni)'``.
    """
    if device.type == 'cuda':
        return f'CUDA {torch.cuda.get_device_name(device)}'
    features = cpu_features or read_cpu_features()
    flags = ', '.join(sorted(features.flags - {'avx2', 'avx512f', 'amx_tile'})) or 'no AMX/VNNI'
    return f'CPU {features.model_name} ({features.num_threads} threads; {flags})'

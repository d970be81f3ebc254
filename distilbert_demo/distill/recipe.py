"""Knowledge distillation, the DistilBERT recipe (Sanh et al. 2019 and the reference training code).

    L = a_ce * L_ce + a_mlm * L_mlm + a_cos * L_cos

L_ce is KL(softmax(t/T) || log_softmax(s/T)) over the selected positions, batch-mean, times T^2
(the T^2 keeps its gradients on the scale of the hard-label loss as T changes); L_mlm the usual
masked-LM cross-entropy; L_cos the cosine embedding loss (target 1) between student and teacher
last hidden states over non-padding tokens. By default L_ce is restricted to the masked
positions (an option of the reference code), and then both models run their vocabulary
projection only there: the same loss terms, several times less work on a CPU.

Training runs through Hugging Face Accelerate, so the same loop runs in the web app (one
process), from the CLI, and under `accelerate launch` on several processes or GPUs.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from torch.utils.data import DataLoader
from transformers import DataCollatorForLanguageModeling, PreTrainedTokenizerBase

from .. import measure, predict
from ..inputs import InputError
from ..layer_map import default_student_layers
from ..settings import setting
from . import corpus, student

MAX_PAGE_STEPS = 1000  # the web page's limit on steps; the CLI has none
MAX_PAGE_SECONDS = 600  # and on a time budget
INITS = ("teacher", "random")
# The paper's ablation (Sanh et al. 2019, Table 4): change in GLUE macro-score against the triple
# loss with teacher initialisation. Each preset changes exactly what its name says.
ABLATIONS: dict[str, tuple[dict, float | None]] = {
    "full recipe": ({}, None),
    "without L_ce": ({"alpha_ce": 0.0}, -2.96),
    "without L_cos": ({"alpha_cos": 0.0}, -1.46),
    "without L_mlm": ({"alpha_mlm": 0.0}, -0.31),
    "random initialisation": ({"init": "random"}, -3.69),
}


@dataclass
class DistillConfig:
    """A run's settings; the CLI flags and the Distill tab's controls are derived from these fields."""

    steps: int = setting(
        40, "optimiser steps (when no time budget is given)", label="Steps", minimum=0, maximum=MAX_PAGE_STEPS, step=1
    )
    seconds: float = setting(  # the run times its first steps, then plans how many fit
        0.0,
        "a time budget in seconds instead of a step count (0: run --steps steps)",
        label="Time budget (seconds, 0: use the step count)",
        minimum=0,
        maximum=MAX_PAGE_SECONDS,
        step=5,
        page_default=60,
    )
    batch_size: int = setting(8, "sequences per step", label="Batch size", minimum=1, maximum=32, step=1)
    seq_len: int = setting(  # [CLS] and [SEP] included
        64, "tokens per packed sequence", label="Sequence length (tokens)", minimum=16, maximum=256, step=8
    )
    temperature: float = setting(  # softens both distributions; the reference default
        2.0, "softmax temperature T of L_ce", label="Temperature T", minimum=0.5, maximum=8, step=0.5
    )
    alpha_ce: float = setting(5.0, "weight of the soft-target KL term L_ce", label="α_ce", minimum=0)
    alpha_mlm: float = setting(2.0, "weight of the masked-LM term L_mlm", label="α_mlm", minimum=0)
    alpha_cos: float = setting(1.0, "weight of the hidden-state cosine term L_cos", label="α_cos", minimum=0)
    lr: float = setting(5e-4, "AdamW learning rate (the reference code's)", label="Learning rate", minimum=0)
    seed: int = setting(0, "seed of masking, data order and dropout")
    eval_every: int = setting(10, "steps between held-out agreement checks")
    # ~5x cheaper on CPU: both vocabulary projections run only at the masked positions
    ce_on_masked_only: bool = setting(True, "L_ce over every token, not only masked ones", flag="--full-ce")
    init: str = setting(  # "random": the same shape from scratch (the myth race, the paper's ablation)
        "teacher",
        "the student's initial weights: the teacher's layers (the recipe) or random",
        label="Student initialisation",
        choices=INITS,
    )
    bf16: bool = setting(  # the tab turns it on where the processor has bf16 units (bf16_is_fast)
        False, "bf16 mixed precision (fast on CPUs with bf16 units)", label="bf16 mixed precision"
    )
    betas: tuple[float, float] = (0.9, 0.98)  # AdamW, as the reference code
    warmup_fraction: float = 0.05  # linear warm-up over the first 5% of steps, then linear decay
    max_grad_norm: float = 5.0
    mlm_probability: float = 0.15  # dynamic masking; of those, 80% [MASK], 10% random, 10% kept
    eval_sentences: int = 48  # held-out sentences used to measure agreement

    def check(self) -> None:
        """Refuse settings that cannot train, with a one-line message naming the setting at fault."""
        self._check_sizes()
        numbers = {
            "temperature": ("temperature", self.temperature),
            "learning rate": ("lr", self.lr),
            "α_ce": ("alpha_ce", self.alpha_ce),
            "α_mlm": ("alpha_mlm", self.alpha_mlm),
            "α_cos": ("alpha_cos", self.alpha_cos),
        }
        for name, (field_name, value) in numbers.items():
            if not math.isfinite(value):  # inf or nan would turn every loss into nan
                raise InputError(f"{name} must be a finite number.", field=field_name)
        if not self.temperature > 0:
            raise InputError("temperature must be greater than 0.", field="temperature")
        weights = {"alpha_ce": self.alpha_ce, "alpha_mlm": self.alpha_mlm, "alpha_cos": self.alpha_cos}
        if min(weights.values()) < 0:
            raise InputError("loss weights cannot be negative.", field=min(weights, key=weights.get))
        if sum(weights.values()) == 0:
            raise InputError("at least one loss weight must be greater than 0.", field="alpha_ce")
        if not self.lr > 0:
            raise InputError("learning rate must be greater than 0.", field="lr")

    def _check_sizes(self) -> None:
        if self.steps < 0:
            raise InputError("steps must be 0 or more.", field="steps")
        if not (math.isfinite(self.seconds) and self.seconds >= 0):
            raise InputError("the time budget must be 0 or more seconds.", field="seconds")
        if self.batch_size < 1:
            raise InputError("batch size must be at least 1.", field="batch_size")
        if not 8 <= self.seq_len <= 512:
            raise InputError("sequence length must be between 8 and 512 tokens.", field="seq_len")
        if self.eval_every < 1:
            raise InputError("evaluation interval must be at least 1 step.", field="eval_every")
        if self.init not in INITS:
            raise InputError(f"initialisation must be one of {', '.join(INITS)}.", field="init")

    def ablation(self, preset: str) -> DistillConfig:
        """These settings with one of ABLATIONS applied (the settings it names, nothing else)."""
        if preset not in ABLATIONS:
            raise InputError(f"Unknown recipe; choose one of: {', '.join(ABLATIONS)}.", field="preset")
        return replace(self, **ABLATIONS[preset][0])


def bf16_is_fast(device: torch.device) -> bool:
    """Whether this device has native bf16 arithmetic (the UI turns bf16 on by default there)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@dataclass
class LossParts:
    total: torch.Tensor
    ce: torch.Tensor
    mlm: torch.Tensor
    cos: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        return {
            "loss": self.total.item(),
            "loss_ce": self.ce.item(),
            "loss_mlm": self.mlm.item(),
            "loss_cos": self.cos.item(),
        }


def distillation_loss(
    student_logits: torch.Tensor,  # (N, V) at the selected positions
    teacher_logits: torch.Tensor,  # (N, V) at the same positions
    student_hidden: torch.Tensor,  # (B, T, H) last hidden states
    teacher_hidden: torch.Tensor,  # (B, T, H)
    mlm_logits: torch.Tensor,  # (M, V) student logits at the masked positions
    mlm_labels: torch.Tensor,  # (M,) original token ids there
    attention_mask: torch.Tensor,  # (B, T) 1 for real tokens
    config: DistillConfig,
) -> LossParts:
    T = config.temperature
    # Under bf16 autocast the logits arrive in bf16; softmax, KL and cosine are done in fp32.
    student_logits, teacher_logits, mlm_logits = student_logits.float(), teacher_logits.float(), mlm_logits.float()
    student_hidden, teacher_hidden = student_hidden.float(), teacher_hidden.float()
    if len(student_logits):
        loss_ce = (
            F.kl_div(
                F.log_softmax(student_logits / T, dim=-1),
                F.softmax(teacher_logits / T, dim=-1),
                reduction="batchmean",
            )
            * T**2
        )
    else:  # a small batch can draw no masked token at all: no term rather than 0/0 = nan
        loss_ce = student_logits.sum()
    loss_mlm = F.cross_entropy(mlm_logits, mlm_labels) if len(mlm_logits) else mlm_logits.sum()
    real = attention_mask.bool()  # (B, T)
    s_rows, t_rows = student_hidden[real], teacher_hidden[real]  # (N_real, H)
    loss_cos = F.cosine_embedding_loss(s_rows, t_rows, torch.ones(len(s_rows), device=s_rows.device))
    total = config.alpha_ce * loss_ce + config.alpha_mlm * loss_mlm + config.alpha_cos * loss_cos
    return LossParts(total, loss_ce, loss_mlm, loss_cos)


class SelectiveHead(torch.nn.Module):
    """A masked-LM model whose forward projects onto the vocabulary only at selected positions.

    A module (rather than two calls into the model's parts) so that DistributedDataParallel,
    which Accelerate wraps it in under `accelerate launch`, sees the whole forward and
    synchronises every gradient.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, selected):
        hidden = predict.encode(self.model, {"input_ids": input_ids, "attention_mask": attention_mask})  # (B, T, H)
        return hidden, predict.mlm_head(self.model, hidden[selected])  # (B, T, H), (N, V)


def compute_losses(student: SelectiveHead, teacher_model, batch: dict, config: DistillConfig) -> LossParts:
    """Both forward passes on one masked batch, heads only where the losses need them."""
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    masked = batch["labels"] != -100  # (B, T)
    selected = masked if config.ce_on_masked_only else batch["attention_mask"].bool()
    with torch.no_grad():
        teacher_hidden = predict.encode(teacher_model, inputs)  # (B, T, H)
        teacher_logits = predict.mlm_head(teacher_model, teacher_hidden[selected])  # (N, V)
    student_hidden, student_logits = student(batch["input_ids"], batch["attention_mask"], selected)
    # The masked positions are a subset of the selected ones: reuse those logits for L_mlm.
    mlm_logits = student_logits[masked[selected]]  # (M, V)
    return distillation_loss(
        student_logits,
        teacher_logits,
        student_hidden,
        teacher_hidden,
        mlm_logits,
        batch["labels"][masked],
        batch["attention_mask"],
        config,
    )


class SeededMaskingCollator(DataCollatorForLanguageModeling):
    """transformers' masking collator, seeded in whatever process it runs in.

    With a `seed`, the library seeds its generator only in a process named "MainProcess" (or a
    DataLoader worker) and raises anywhere else; a ZeroGPU call runs in a forked worker
    ("ForkProcess-N"). Here the seed is the same in every process (plus the DataLoader worker's id,
    as the library does), so a run masks the same tokens wherever it runs.
    """

    def create_rng(self, return_tensors=None):
        worker = torch.utils.data.get_worker_info()
        self.generator = self.get_generator(self.seed + (worker.id if worker else 0), return_tensors)
        self._generator_pid = os.getpid()


@dataclass
class HeldOutAgreement:
    top1: float  # share of masked positions where the student's top-1 equals the teacher's
    kl: float  # mean KL(teacher || student) at those positions, nats, temperature 1
    positions: int


class HeldOut:
    """Fixed, seeded masking of held-out sentences; the teacher's answers are computed once."""

    def __init__(self, sentences: list[str], tokenizer, teacher, config: DistillConfig, device: torch.device):
        collator = SeededMaskingCollator(tokenizer, mlm_probability=config.mlm_probability, seed=config.seed)
        encoded = [tokenizer(s, truncation=True, max_length=config.seq_len) for s in sentences[: config.eval_sentences]]
        encoded = [{"input_ids": e["input_ids"]} for e in encoded]
        self.batches = []
        for start in range(0, len(encoded), 16):
            batch = {k: v.to(device) for k, v in collator(encoded[start : start + 16]).items()}
            masked = batch["labels"] != -100
            if not masked.any():
                continue
            inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
            with torch.inference_mode():
                hidden = predict.encode(teacher, inputs)
                teacher_logp = predict.mlm_head(teacher, hidden[masked]).float().log_softmax(-1)  # (M, V)
            self.batches.append((inputs, masked, teacher_logp))

    @torch.inference_mode()
    def agreement(self, student_model) -> HeldOutAgreement:
        was_training = student_model.training
        student_model.eval()
        matches, kl_sum, count = 0, 0.0, 0
        for inputs, masked, teacher_logp in self.batches:
            hidden = predict.encode(student_model, inputs)
            student_logp = predict.mlm_head(student_model, hidden[masked]).float().log_softmax(-1)  # (M, V)
            matches += int((student_logp.argmax(-1) == teacher_logp.argmax(-1)).sum())
            kl_sum += float(F.kl_div(student_logp, teacher_logp, log_target=True, reduction="sum"))
            count += len(teacher_logp)
        student_model.train(was_training)
        return HeldOutAgreement(top1=matches / max(count, 1), kl=kl_sum / max(count, 1), positions=count)


@dataclass
class Plan:
    """How many steps the run makes: the step count, or what fits in the time budget once the first
    steps have been timed (the learning-rate schedule follows the plan).

    A budget counts from the click (`Distiller(started=...)`): building the students, the held-out
    evaluations and the caller's final measurement (`reserve_s`) are inside it, not on top of it."""

    steps: int
    budget_s: float = 0.0  # 0: a step count, no budget
    step_s: float = 0.0  # measured seconds per step (of every lane: a race's two students make one step each)
    eval_s: float = 0.0  # measured seconds per held-out evaluation (of every lane)
    measured_on: str = ""
    reserve_s: float = 0.0  # kept at the end of the budget for what the caller does after the last step
    setup_s: float = 0.0  # from the click to the first step: building, the teacher's answers, the first evaluation
    eval_every: int = 10
    lanes: int = 1  # students stepping in turns on the same batches (2: the myth race)

    @property
    def measured(self) -> bool:
        return self.step_s > 0

    def text(self) -> str:
        if not self.budget_s:
            return f"{self.steps} steps" + (" each" if self.lanes > 1 else "")
        if not self.measured:
            return f"a {self.budget_s:g} s budget: timing the first steps…"
        each = f" each ({self.step_s:.3g} s for one step of both)" if self.lanes > 1 else f" of {self.step_s:.3g} s"
        return (
            f"~{self.steps} steps{each} on {self.measured_on}, within {self.budget_s:g} s from the click "
            f"(setup {self.setup_s:.0f} s)"
        )

    def eta_s(self, step: int, elapsed_s: float) -> float:
        """Seconds left to the result: the planned steps, the evaluations they bring and the reserve,
        never more than what is left of the budget."""
        left = max(0.0, self.budget_s - elapsed_s)
        if not self.measured:
            return left
        steps_left = max(0, self.steps - step)
        evals = self.steps // self.eval_every - step // self.eval_every  # the ones on multiples of eval_every
        evals += 1 if steps_left and self.steps % self.eval_every else 0  # and the last step's
        return min(left, steps_left * self.step_s + evals * self.eval_s + self.reserve_s)


@dataclass
class StepReport:
    """What the loop says after each step (the UI redraws from it, the CLI logs it)."""

    step: int
    steps: int
    losses: dict[str, float]  # the first lane's (a race's lanes: each lane's result.history)
    elapsed_s: float  # from the click (the budget's start)
    agreement: HeldOutAgreement | None = None  # set on evaluation steps (the first lane's)
    plan: Plan | None = None

    @property
    def steps_per_s(self) -> float:
        return self.step / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float:
        if self.plan is not None and self.plan.budget_s:
            return self.plan.eta_s(self.step, self.elapsed_s)
        return (self.steps - self.step) / self.steps_per_s if self.steps_per_s > 0 else math.inf


@dataclass
class DistillResult:
    student: torch.nn.Module
    layers: list[int]
    history: list[dict] = field(default_factory=list)
    evaluations: list[dict] = field(default_factory=list)  # {step, top1, kl}
    agreement_before: HeldOutAgreement | None = None
    agreement_after: HeldOutAgreement | None = None
    stopped: bool = False
    elapsed_s: float = 0.0


class Distiller:
    """One distillation run: a student built from the teacher, trained step by step.

    `run()` is a generator of StepReports so that a web page can draw live curves and stop it
    between two steps; `result` holds the student and the history at any point.
    """

    def __init__(
        self,
        teacher,
        tokenizer: PreTrainedTokenizerBase,
        train_source: list[str] | str,
        heldout: list[str],
        config: DistillConfig,
        layers: list[int] | None = None,
        accelerator: Accelerator | None = None,
        train_skip_lines: int = 0,  # for a file source: its first lines are the held-out set
        *,
        started: float | None = None,  # time.perf_counter() of the click: a budget counts from there
        reserve_s: float = 0.0,  # seconds of the budget kept for the caller's work after the last step
        heldout_set: HeldOut | None = None,  # the teacher's held-out answers, when another lane made them
    ):
        self.started = time.perf_counter() if started is None else started
        config.check()
        if not heldout:
            raise InputError("The corpus is empty: there are no held-out sentences to measure agreement on.")
        self.config = config
        # Precision is chosen per run with torch.autocast below, not with Accelerate's
        # mixed_precision, which is fixed for the whole process (a server runs many runs).
        self.accelerator = accelerator or Accelerator(cpu=not torch.cuda.is_available())
        torch.manual_seed(config.seed)  # dropout in the student; everything else is seeded below
        self.teacher = teacher.eval().to(self.accelerator.device)
        self.tokenizer = tokenizer
        layers = layers if layers is not None else default_student_layers(teacher.config.num_hidden_layers)
        build = student.random_student if config.init == "random" else student.build_student
        built = build(teacher, layers).to(self.accelerator.device).train()
        self.layers = layers
        stream = corpus.PackedTextStream(
            train_source, tokenizer, config.seq_len, seed=config.seed, skip_lines=train_skip_lines
        )
        # Every batch padded to seq_len: under `accelerate launch` the main process reads the
        # stream and dispatches slices of one batch, which must all have the same shape.
        collator = SeededMaskingCollator(
            tokenizer, mlm_probability=config.mlm_probability, seed=config.seed, pad_to_multiple_of=config.seq_len
        )
        loader = DataLoader(stream, batch_size=config.batch_size, collate_fn=collator)
        # The fused kernel updates all 67M parameters in one pass: ~9x faster than the default loop on CPU.
        optimizer = torch.optim.AdamW(built.parameters(), lr=config.lr, betas=config.betas, fused=True)
        # A budgeted run starts with a generous guess; the plan replaces it once steps are timed.
        self.plan = Plan(
            steps=config.steps if not config.seconds else 10**6,
            budget_s=config.seconds,
            measured_on=measure.device_label(self.accelerator.device),
            reserve_s=reserve_s if config.seconds else 0.0,
            eval_every=config.eval_every,
        )
        # Linear warm-up then linear decay (transformers' get_linear_schedule_with_warmup), over the plan.
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, self._lr_factor)
        # The scheduler stays outside prepare(): Accelerate would step it once per process at
        # every optimizer step, and with N processes the learning rate would reach 0 after steps/N.
        self.student, self.optimizer, self.loader = self.accelerator.prepare(SelectiveHead(built), optimizer, loader)
        self.scheduler = scheduler
        if heldout_set is None:
            with measure.MACHINE:  # the teacher's held-out answers are model work too
                heldout_set = HeldOut(heldout, tokenizer, self.teacher, config, self.accelerator.device)
        self.heldout = heldout_set
        self.result = DistillResult(student=built, layers=layers)

    def _lr_factor(self, step: int) -> float:
        total = max(self.plan.steps, 1)
        warmup = math.ceil(self.config.warmup_fraction * total)
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    def _evaluate(self, step: int) -> HeldOutAgreement:
        with measure.MACHINE:
            agreement = self.heldout.agreement(self.student_model)
        self.result.evaluations.append({"step": step, **asdict(agreement)})
        return agreement

    def run(self, stop: threading.Event | None = None) -> Iterator[StepReport]:
        """Step until the plan is done (or `stop` is set); with a time budget, the steps are timed and
        the plan is made from them; a step that would end past the budget is not begun."""
        return run_lanes([self], stop)

    def _step(self, batch: dict) -> dict[str, float]:
        """One optimiser step on `batch`; the loss terms, averaged over processes."""
        with torch.autocast(self.accelerator.device.type, dtype=torch.bfloat16, enabled=self.config.bf16):
            parts = compute_losses(self.student, self.teacher, batch, self.config)
        self.accelerator.backward(parts.total)
        self.accelerator.clip_grad_norm_(self.student.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return {k: self._mean_across_processes(v) for k, v in parts.as_floats().items()}

    @property
    def student_model(self):
        """The DistilBertForMaskedLM itself, outside any DDP or head wrapper."""
        return self.accelerator.unwrap_model(self.student).model

    def _mean_across_processes(self, value: float) -> float:
        if self.accelerator.num_processes == 1:
            return value
        tensor = torch.tensor([value], device=self.accelerator.device)
        return float(self.accelerator.reduce(tensor, reduction="mean"))

    def save(self, out_dir: str) -> None:
        """Student and tokenizer, loadable with AutoModelForMaskedLM / AutoTokenizer (main process only)."""
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            self.student_model.save_pretrained(out_dir)
            self.tokenizer.save_pretrained(out_dir)
        self.accelerator.wait_for_everyone()


def _replan(plan: Plan, done: int, elapsed_s: float, step_times: list[float]) -> None:
    """As many more steps as fit in what is left of the budget, counting the held-out evaluations they
    bring, the last one and the caller's reserve; remade after every step from the latest ones.

    The first step warms up (on tiny models it took 70 times the next one): while it is the only one
    timed, a second step is made to time if any of the budget is left, and the plan follows from it."""
    recent = (step_times[1:] or step_times)[-20:]
    plan.step_s = sum(recent) / len(recent)
    left = plan.budget_s - elapsed_s - plan.eval_s - plan.reserve_s  # the last evaluation, then the reserve
    per_step = plan.step_s + plan.eval_s / plan.eval_every
    plan.steps = done + max(0, math.floor(left / per_step))
    if done == 1 and left > 0:
        plan.steps = max(plan.steps, 2)


def _one_plan(lanes: list[Distiller]) -> Plan:
    """The first lane's plan for every lane (so the same learning-rate schedule); the batches come from
    the first lane's loader, so the settings that shape them must agree."""
    config, plan = lanes[0].config, lanes[0].plan
    for lane in lanes[1:]:
        assert replace(lane.config, init=config.init) == config, "lanes differ in more than their initialisation"
        lane.plan = plan
    plan.lanes = len(lanes)
    return plan


def _step_lanes(lanes: list[Distiller], batch: dict, step: int) -> list[dict[str, float]]:
    """One step of each lane on the same batch, in turn; one at a time on the machine (a comparison
    asking to be timed goes between two steps)."""
    losses = []
    for lane in lanes:
        with measure.MACHINE:
            losses.append(lane._step(batch))
        lane.result.history.append({"step": step, **losses[-1]})
    return losses


def _close_lanes(lanes: list[Distiller], started: float) -> None:
    for lane in lanes:
        result = lane.result
        result.elapsed_s = time.perf_counter() - started
        if result.evaluations:
            last = result.evaluations[-1]
            result.agreement_after = HeldOutAgreement(last["top1"], last["kl"], last["positions"])
        result.student = lane.student_model.eval()
        lane.optimizer = None  # Adam's moments are twice the student's size: free them now


def run_lanes(lanes: list[Distiller], stop: threading.Event | None = None) -> Iterator[StepReport]:
    """Step one run, or several in turns on the same batches (the myth race: a step of the first
    student, then a step of the second on the same batch, and so on): one plan, one budget counted
    from the earliest lane's `started`, every lane evaluated at the same steps, and every lane ends
    with the same number of steps. Yields one StepReport per step of all lanes."""
    plan, config = _one_plan(lanes), lanes[0].config
    started = min(lane.started for lane in lanes)
    evaluated = time.perf_counter()
    for lane in lanes:
        lane.result.agreement_before = lane._evaluate(0)
    plan.eval_s = time.perf_counter() - evaluated
    batches = iter(lanes[0].loader)
    step_times: list[float] = []  # wall time of each step of all lanes, top of the loop to the next (no evaluation)
    step, mark = 0, time.perf_counter()
    plan.setup_s = mark - started
    try:
        while True:
            if stop is not None and stop.is_set():
                for lane in lanes:
                    lane.result.stopped = True
                break
            now = time.perf_counter()
            if step:
                step_times.append(now - mark)
            mark = now
            if plan.budget_s and step:  # re-planned after every step; the first one always runs
                _replan(plan, step, now - started, step_times)
            # The plan's own test (it keeps room for the evaluations): the run never makes more steps than
            # its final plan says (a timing test alone once made one more than the plan).
            if step >= plan.steps:
                break  # done, or the budget is spent
            step += 1
            losses = _step_lanes(lanes, next(batches), step)
            agreement = None
            if step % config.eval_every == 0 or step == plan.steps:
                evaluated = time.perf_counter()
                agreement = [lane._evaluate(step) for lane in lanes][0]
                mark += time.perf_counter() - evaluated  # an evaluation is not a step's time
            elapsed = time.perf_counter() - started
            for lane in lanes:
                lane.result.elapsed_s = elapsed
            yield StepReport(step, plan.steps, losses[0], elapsed, agreement, plan)
        if step and lanes[0].result.evaluations[-1]["step"] != step:  # ended early: measure where it stopped
            for lane in lanes:
                lane._evaluate(step)
    finally:
        _close_lanes(lanes, started)

"""Export YOUR AQ-GT checkpoint to SignStream's `aqgt_*` contract. Run it inside your own AQ-GT checkout
(hvoss-techfak/AQGT, its environment, its pretrained files); SignStream ships none of AQ-GT's code,
data or weights, which are licensed CC BY-NC 3.0 (non-commercial use only).

    cd ~/AQGT && python /path/to/signstream/deploy/aqgt/export_aqgt.py \
        --config config/multimodal_context_AQGT.yml --checkpoint pretrained/<your checkpoint>.ckpt \
        --out /path/to/signstream/model_repository

writes  <out>/aqgt_generator/1/aqgt_generator.onnx   pre_seq (B,34,160), beats (B,2,1020),
                                                       input_values (B,36266), audio_chunks (B,9,1,64,64)
                                                       -> out_dir_vec (B,34,159)
        <out>/aqgt_post/1/aqgt_mean_dir_vec.npy        float32 (159,) from means.p

The exported graph is the generator with what AQ-GT's full-clip synthesis runs around it folded in:
Wav2Vec2 logits of `input_values`, the audio VQ-VAE's codes of the 9 chunks (bottom and top, flattened
as the synthesis does), the BERT pooler feature of the empty sentence (a constant), the speaker index
(--speaker, 1 by default) and the "no annotation" input (-1). The speaker embedding's sampling is
replaced by its mean so the export is deterministic. It calls AQ-GT's own loaders by the names its
repository has at the time of writing (scripts/train_lightning.load_lightning_model,
model/VQVAE_2_audio.VQ_VAE_2_audio, scripts/model/embedding_net.reparameterize): check them against
your checkout if it differs.
"""
from __future__ import annotations

import argparse
import pickle   # means.p is AQ-GT's own file in YOUR checkout; SignStream itself never unpickles it
import sys
from pathlib import Path

import numpy as np
import torch

N_POSES, WINDOW_SAMPLES, N_CHUNKS = 34, 36266, 9


class Exported(torch.nn.Module):
    """The generator plus its feature extractors, on the four tensors SignStream computes."""

    def __init__(self, generator, wav2vec, vqvae, text_feature, speaker: int):
        super().__init__()
        self.generator, self.wav2vec, self.vqvae = generator, wav2vec, vqvae
        self.register_buffer("text", text_feature)
        self.speaker = speaker

    def forward(self, pre_seq, beats, input_values, audio_chunks):
        batch = pre_seq.shape[0]
        logits = self.wav2vec(input_values=input_values).logits
        # the codes as AQ-GT's synthesis flattens them: 9 x (16 x 16) bottom, 9 x (8 x 8) top
        quant_t, quant_b, _, _, _ = self.vqvae.generator.encode(audio_chunks.reshape(batch * N_CHUNKS, 1, 64, 64))
        bottom = quant_b.reshape(batch, N_CHUNKS * 16 * 16)
        top = quant_t.reshape(batch, N_CHUNKS * 8 * 8)
        vid = torch.full((batch,), self.speaker, dtype=torch.long)
        annotation = torch.full((batch, 17, N_POSES), -1.0)
        out, *_ = self.generator(pre_seq, beats, self.text.expand(batch, -1), logits, bottom, top, vid, annotation)
        return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--vqvae", default="pretrained/vqvae_audio/vqvae_audio.ckpt")
    p.add_argument("--means", default="means.p")
    p.add_argument("--speaker", type=int, default=1)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()

    sys.path[:0] = [".", "scripts"]
    from transformers import BertModel, BertTokenizer, Wav2Vec2ForCTC

    import scripts.model.embedding_net as embedding_net
    from config.parse_args import parse_args
    from model.VQVAE_2_audio import VQ_VAE_2_audio
    from scripts.train_lightning import load_lightning_model

    embedding_net.reparameterize = lambda mu, logvar: mu          # deterministic speaker context
    sys.argv = [sys.argv[0], "--config", args.config]
    aqgt_args = parse_args()
    _, generator, *_ = load_lightning_model(aqgt_args, args.checkpoint)
    vqvae = VQ_VAE_2_audio.load_from_checkpoint(args.vqvae, strict=False)
    wav2vec = Wav2Vec2ForCTC.from_pretrained("facebook/wav2vec2-base-960h")
    tokenizer, bert = BertTokenizer.from_pretrained("bert-base-uncased"), BertModel.from_pretrained("bert-base-uncased")
    with torch.no_grad():
        text = bert(**tokenizer("", return_tensors="pt"))["pooler_output"]
    model = Exported(generator.eval(), wav2vec.eval(), vqvae.eval(), text, args.speaker).eval()

    dummy = (torch.zeros(1, N_POSES, 160), torch.zeros(1, 2, 1020), torch.zeros(1, WINDOW_SAMPLES),
             torch.zeros(1, N_CHUNKS, 1, 64, 64))
    names = ["pre_seq", "beats", "input_values", "audio_chunks"]
    onnx_path = args.out / "aqgt_generator" / "1" / "aqgt_generator.onnx"
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, dummy, str(onnx_path), input_names=names, output_names=["out_dir_vec"],
                      dynamic_axes={n: {0: "batch"} for n in [*names, "out_dir_vec"]}, opset_version=17)
    with open(args.means, "rb") as handle:
        _, mean_dir_vec = pickle.load(handle)
    mean_path = args.out / "aqgt_post" / "1" / "aqgt_mean_dir_vec.npy"
    np.save(mean_path, np.asarray(mean_dir_vec, np.float32).reshape(159), allow_pickle=False)
    print(f"wrote {onnx_path} and {mean_path}; AQ-GT is CC BY-NC 3.0: non-commercial use only")


if __name__ == "__main__":
    main()
